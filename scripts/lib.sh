# Shared by scripts/demo and scripts/test: packages, build, and the private
# servers (a PostgreSQL cluster and the SMTP recorder) of a run.
# shellcheck shell=bash

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pgbin=/usr/lib/postgresql/15/bin

# Debian packages the build, the demo and the tests need.
packages=(
	build-essential meson ninja-build pkg-config
	libpq-dev libevent-dev libcurl4-openssl-dev libconfuse-dev libjansson-dev
	libgmime-3.0-dev libssl-dev libsystemd-dev
	libpango1.0-dev libcairo2-dev fonts-dejavu-core poppler-utils libxml2-dev
	postgresql-15 postgresql-client-15 postgresql-15-auto-failover pg-auto-failover-cli tzdata
	python3-aiosmtpd python3-pytest python3-psycopg2
	chromium chromium-driver python3-selenium
	postfix sasl2-bin libsasl2-modules openssl
	clang systemd
	scdoc man-db
)

# Install whatever is missing (apt-get update once, first).
ensure_packages() {
	local missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "==> installing: ${missing[*]}"
	local sudo=()
	[ "$(id -u)" -ne 0 ] && sudo=(sudo)
	# The tests run a private Postfix of their own (tests/lib/harness/relay.py):
	# no system instance is configured nor started.
	echo "postfix postfix/main_mailer_type select No configuration" |
		"${sudo[@]}" debconf-set-selections
	"${sudo[@]}" apt-get update -q
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
}

# Configure (once) and build DIR with extra meson options.
build() {
	local dir=$1; shift
	if [ ! -f "$root/$dir/build.ninja" ]; then
		meson setup "$root/$dir" "$root" "$@" >/dev/null
	fi
	ninja -C "$root/$dir" >/dev/null
}

# A free TCP port on loopback.
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Run a command as the postgres user when we are root (PostgreSQL refuses root).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Start a private cluster in $1 on port $2; its socket lives in $1.
pg_start() {
	local dir=$1 port=$2
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	as_pg "$pgbin/initdb" -D "$dir/data" -A trust --nosync -U postgres >/dev/null
	as_pg "$pgbin/pg_ctl" -D "$dir/data" -w -l "$dir/server.log" \
		-o "-k $dir -p $port -c listen_addresses='' -c fsync=off" start >/dev/null
}

# Stop the cluster in $1 (quietly if it is not running).
pg_stop() {
	[ -f "$1/data/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$1/data" -m fast stop >/dev/null 2>&1
	return 0
}

# Start the SMTP recorder on port $1 writing to $2; wait until it listens.
smtp_start() {
	local port=$1 out=$2 log
	log=$(mktemp)
	/usr/bin/python3 "$root/tests/lib/smtp_recorder.py" --port "$port" --out "$out" >"$log" 2>&1 &
	smtp_pid=$!
	for _ in $(seq 1 100); do
		grep -q READY "$log" && { rm -f "$log"; return 0; }
		kill -0 "$smtp_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$log" >&2
	echo "the SMTP recorder did not start" >&2
	return 1
}
