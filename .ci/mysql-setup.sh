#!/usr/bin/env bash
# Make sure a MariaDB (or MySQL) server answers on 127.0.0.1:3306 for root
# without a password, with a database "test", for store/mysqlstore's tests.
# CI machines run one already; on a machine without one, install MariaDB
# from Debian's packages, start it, and let root in over TCP (a local test
# server only).
set -euo pipefail

client() { command -v mariadb >/dev/null && echo mariadb || echo mysql; }
ready() {
	command -v mariadb >/dev/null || command -v mysql >/dev/null || return 1
	"$(client)" -h 127.0.0.1 -P 3306 -u root --connect-timeout=2 -e "SELECT 1" >/dev/null 2>&1
}

if ! ready; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
		echo "mysql-setup: no server on 127.0.0.1:3306; installing MariaDB from Debian's packages"
		$SUDO apt-get update -q
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q mariadb-server mariadb-client
	fi
	echo "mysql-setup: starting MariaDB"
	$SUDO mkdir -p /run/mysqld
	$SUDO chown mysql:mysql /run/mysqld 2>/dev/null || true
	$SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1 --port=3306
	for _ in $(seq 1 60); do
		ready && break
		# Debian's root logs in through the socket only (unix_socket):
		# let it in over TCP from this machine without a password too.
		if "$(client)" -u root -e "SELECT 1" >/dev/null 2>&1; then
			"$(client)" -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" || true
		fi
		sleep 1
	done
fi

ready || { echo "mysql-setup: MariaDB/MySQL does not answer on 127.0.0.1:3306 as root" >&2; exit 1; }
c=$(client)
"$c" -h 127.0.0.1 -P 3306 -u root -e "CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
# The tests run packages at once, each with several pools: make room for
# their connections (151 by default). Runtime only; a restart forgets it.
"$c" -h 127.0.0.1 -P 3306 -u root -e "SET GLOBAL max_connections = GREATEST(@@max_connections, 600)"
"$c" -h 127.0.0.1 -P 3306 -u root -N -e "SELECT CONCAT('mysql-setup: ', VERSION())"
