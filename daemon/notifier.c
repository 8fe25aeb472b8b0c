/* notifier.c: being written (issue 4). */
