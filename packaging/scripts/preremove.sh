#!/bin/sh
# Stops the service when the package is removed (not on upgrade).
# Debian: "remove"/"upgrade"; RPM: 0 when erased, 1 when upgraded.
set -e
case "$1" in
  remove|0)
    if [ -d /run/systemd/system ]; then
      systemctl disable --now asanajira.service >/dev/null 2>&1 || true
    fi
    ;;
esac
