/* store_ctl.c: being written (issue 4). */
