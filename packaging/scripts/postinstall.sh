#!/bin/sh
# Gives the data folder and the settings file to the asanajira user, then
# tells systemd about the unit. The service is not started: it needs
# settings first (see /etc/asanajira/asanajira.env).
set -e
chown asanajira:asanajira /var/lib/asanajira
chmod 0750 /var/lib/asanajira
chown root:asanajira /etc/asanajira /etc/asanajira/asanajira.env
chmod 0750 /etc/asanajira
chmod 0640 /etc/asanajira/asanajira.env
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  # On an upgrade, a running service restarts on the new binary; it
  # migrates its database on start (SQLite is copied beside itself first).
  if systemctl is-active --quiet asanajira.service; then
    systemctl restart asanajira.service || true
  fi
fi
if [ ! -s /var/lib/asanajira/asanajira.db ]; then
  echo "asanajira: set it up in /etc/asanajira/asanajira.env, then: systemctl enable --now asanajira"
fi
