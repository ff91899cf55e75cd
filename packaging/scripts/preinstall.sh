#!/bin/sh
# Creates the asanajira system user and group before the files are unpacked.
# Debian calls this with "install"/"upgrade", RPM with a count; both are fine.
set -e
if ! getent group asanajira >/dev/null; then
  groupadd --system asanajira
fi
if ! getent passwd asanajira >/dev/null; then
  useradd --system --gid asanajira --home-dir /var/lib/asanajira --no-create-home \
    --shell /usr/sbin/nologin --comment "asanajira service" asanajira
fi
