#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth and
# a database "test", for store/pgstore's tests. CI machines run one already;
# on a machine without one, install and start it from Debian's packages.
set -euo pipefail

ready() { command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; }

if ! ready; then
	echo "pg-setup: no PostgreSQL server on 127.0.0.1:5432; installing one from Debian's packages"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	if ! command -v pg_ctlcluster >/dev/null; then
		$SUDO apt-get update -q
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql postgresql-client
	fi
	ver=$(ls /usr/lib/postgresql | sort -V | tail -n1)
	if ! pg_lsclusters -h | grep -q "^$ver main"; then
		$SUDO pg_createcluster "$ver" main -- --auth=trust
	fi
	conf=/etc/postgresql/$ver/main/pg_hba.conf
	# Local test server only: trust connections from this machine.
	$SUDO sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(local\s+all\s+all\s+)\S+/\1trust/; s/^(local\s+all\s+postgres\s+)\S+/\1trust/' "$conf"
	$SUDO pg_ctlcluster "$ver" main start || $SUDO pg_ctlcluster "$ver" main restart
	for _ in $(seq 1 30); do ready && break; sleep 1; done
fi

ready || { echo "pg-setup: PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1; then
	psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test"
fi
psql -h 127.0.0.1 -U postgres -d test -tAc "SELECT 'pg-setup: ' || version()"
