/* store_notify.c: being written (issue 4). */
