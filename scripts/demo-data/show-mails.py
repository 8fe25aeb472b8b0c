#!/usr/bin/python3
"""Print the messages the mail catcher received: day, recipient, subject;
then, in full, the first one whose subject starts with each of argv[2:]."""
import email
import email.policy
import json
import sys
from email.utils import parsedate_to_datetime

rows = []
with open(sys.argv[1], encoding='utf-8') as f:
    for line in f:
        rec = json.loads(line)
        msg = email.message_from_string(rec['data'], policy=email.policy.default)
        rows.append((parsedate_to_datetime(msg['Date']), ', '.join(rec['rcpt_tos']),
                     str(msg['Subject']), msg))
rows.sort(key=lambda r: r[0])
print('  %-16s  %-40s  %s' % ('sent', 'to', 'subject'))
for when, to, subject, _ in rows:
    print('  %-16s  %-40s  %s' % (when.strftime('%a %d %b %H:%M'), to, subject))
print('  %d messages' % len(rows))
# Then, in full, the first message whose subject starts with each further
# argument.
for prefix in sys.argv[2:]:
    for when, to, subject, msg in rows:
        if subject.startswith(prefix):
            print()
            print('==> "%s…" in full, as %s reads it' % (prefix, to))
            for h in ('Date', 'From', 'To', 'Reply-To', 'Subject', 'Message-ID'):
                if msg[h] is not None:
                    print('  %s: %s' % (h, msg[h]))
            print()
            for line in msg.get_body(('plain',)).get_content().splitlines():
                print('  ' + line)
            break
