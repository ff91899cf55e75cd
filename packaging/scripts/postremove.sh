#!/bin/sh
# Reloads systemd after the unit is gone. The data in /var/lib/asanajira, the
# settings and the asanajira user are kept: they hold the database and the
# sealing key, and removing a package must not lose them.
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
