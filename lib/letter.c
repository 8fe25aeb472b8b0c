/* letter.c: being written (issue 4). */
