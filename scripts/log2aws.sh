#!/usr/bin/env bash
# log2aws.sh - upload one day's server log to S3 through the logferry upload API.
#
# Run from cron (no TTY needed), e.g.:  15 0 * * *  /usr/local/bin/log2aws.sh
# Needs bash, curl, gzip and POSIX tools; sha256sum or shasum (or openssl) for the checksum
# and the request signature (HMAC-SHA256 with the server's key, computed here: the key never
# appears on a command line).
# See --help for options, configuration and exit codes.

set -u -o pipefail
umask 077

readonly PROG=log2aws
readonly EX_OK=0 EX_USAGE=1 EX_CONFIG=2 EX_NOLOG=3 EX_REFUSED=4 EX_UPLOAD=5 EX_LOCKED=6
# curl exit codes worth a retry: resolve, connect, timeout, empty reply, receive error.
readonly RETRY_CURL_CODES=" 6 7 28 52 56 "

usage() {
	cat <<'EOF'
Usage: log2aws.sh [--config FILE] [--date YYYY-MM-DD] [--dry-run] [--insecure-http] [--help]

Uploads the log of one day (default: yesterday) gzip-compressed to S3: asks the upload API
for a presigned URL bound to the file's size and SHA-256, signing the request with this
server's key, then PUTs the file to it.

Options:
  --config FILE      configuration file (default /etc/log2aws.conf, if it exists)
  --date YYYY-MM-DD  day to send (default: yesterday); use it to resend a day
  --dry-run          show what would be sent; no network access, nothing uploaded
  --insecure-http    allow http:// for the API and the upload URL (a local test stack only;
                     same as LOG2AWS_INSECURE_HTTP=1)
  -h, --help         this help

Configuration (KEY=VALUE lines in the file; the environment overrides the file):
  LOG2AWS_API_URL    upload API endpoint, e.g. https://abc.execute-api.../prod/  (required)
  LOG2AWS_LOG_DIR    directory holding the daily logs                           (required)
  LOG2AWS_SERVER     server name sent to the API (default: hostname)
  LOG2AWS_KEY_FILE   this server's upload key, 32-128 hex digits (default /etc/log2aws.key);
                     the same value as the secret <prefix>/upload/servers/<server>
  LOG2AWS_INSECURE_HTTP  1 to allow http:// URLs (default 0: https:// only)
  LOG2AWS_LOG_NAME   date(1) pattern of the day's file name (default: %Y-%m-%d.log)
  LOG2AWS_RETRIES    attempts on network errors and 5xx answers (default: 5)
  LOG2AWS_BACKOFF    first retry delay in seconds, doubled each time (default: 2)
  LOG2AWS_TIMEOUT    seconds allowed for each HTTP request (default: 300)
  LOG2AWS_LOCK_FILE  lock against overlapping runs (default: ${TMPDIR:-/tmp}/log2aws.lock)

Exit codes:
  0 uploaded (or dry run)       1 usage error           2 configuration error
  3 no log file for the day     4 the API refused (4xx)
  5 upload failed (PUT refused, checksum mismatch, or retries exhausted)
  6 another run holds the lock
EOF
}

say() { # one line to stderr and, when available, to syslog
	printf '%s: %s\n' "$PROG" "$*" >&2
	if command -v logger >/dev/null 2>&1; then
		logger -t "$PROG" -- "$*" 2>/dev/null || true
	fi
}

die() { # die CODE MESSAGE
	local code=$1
	shift
	say "error: $*"
	exit "$code"
}

# ---------------------------------------------------------------- configuration

load_config() { # load_config FILE: KEY=VALUE lines; known keys only; env wins
	local file=$1 line key value n=0
	[ -r "$file" ] || die "$EX_CONFIG" "cannot read config file $file"
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		line=${line%$'\r'}
		case $line in '' | '#'*) continue ;; esac
		key=${line%%=*}
		value=${line#*=}
		key=${key#export }
		key=${key//[[:space:]]/}
		case $key in
		LOG2AWS_API_URL | LOG2AWS_LOG_DIR | LOG2AWS_SERVER | LOG2AWS_LOG_NAME | LOG2AWS_RETRIES | \
			LOG2AWS_BACKOFF | LOG2AWS_TIMEOUT | LOG2AWS_LOCK_FILE | LOG2AWS_KEY_FILE | \
			LOG2AWS_INSECURE_HTTP) ;;
		*) die "$EX_CONFIG" "$file line $n: unknown setting '$key'" ;;
		esac
		[ "$line" != "$key" ] || die "$EX_CONFIG" "$file line $n: expected KEY=VALUE"
		value=${value#"${value%%[![:space:]]*}"}
		value=${value%"${value##*[![:space:]]}"}
		case $value in
		\"*\") value=${value#\"} value=${value%\"} ;;
		\'*\') value=${value#\'} value=${value%\'} ;;
		esac
		if [ -z "${!key+set}" ]; then
			printf -v "$key" '%s' "$value"
		fi
	done <"$file"
}

is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac }

check_config() {
	[ -n "${LOG2AWS_API_URL:-}" ] || die "$EX_CONFIG" "LOG2AWS_API_URL is not set"
	case $LOG2AWS_INSECURE_HTTP in
	0 | 1) ;;
	*) die "$EX_CONFIG" "LOG2AWS_INSECURE_HTTP must be 0 or 1, got '$LOG2AWS_INSECURE_HTTP'" ;;
	esac
	check_scheme "LOG2AWS_API_URL" "$LOG2AWS_API_URL" "$EX_CONFIG"
	[ -n "${LOG2AWS_LOG_DIR:-}" ] || die "$EX_CONFIG" "LOG2AWS_LOG_DIR is not set"
	[ -d "$LOG2AWS_LOG_DIR" ] || die "$EX_CONFIG" "log directory $LOG2AWS_LOG_DIR does not exist"
	case $LOG2AWS_SERVER in
	'' | .* | -* | *..* | *[!A-Za-z0-9._-]*)
		die "$EX_CONFIG" "server name '$LOG2AWS_SERVER' must be 1-64 of A-Z a-z 0-9 . _ -"
		;;
	esac
	[ "${#LOG2AWS_SERVER}" -le 64 ] || die "$EX_CONFIG" "server name longer than 64 characters"
	local name
	for name in LOG2AWS_RETRIES LOG2AWS_BACKOFF LOG2AWS_TIMEOUT; do
		is_uint "${!name}" || die "$EX_CONFIG" "$name must be a whole number, got '${!name}'"
	done
	[ "$LOG2AWS_RETRIES" -ge 1 ] || die "$EX_CONFIG" "LOG2AWS_RETRIES must be at least 1"
	read_key
}

check_scheme() { # check_scheme WHAT URL EXIT: https://, or http:// when allowed
	case $2 in
	https://*) ;;
	http://*)
		[ "$LOG2AWS_INSECURE_HTTP" = 1 ] ||
			die "$3" "$1 is http:// ($2): the request would cross the network unencrypted;" \
				"use https://, or pass --insecure-http (LOG2AWS_INSECURE_HTTP=1) for a local test stack"
		;;
	*) die "$3" "$1 must start with https://, got '$2'" ;;
	esac
}

read_key() { # KEY_HEX from LOG2AWS_KEY_FILE: its first line that is not blank or a comment
	local file=$LOG2AWS_KEY_FILE line
	[ -r "$file" ] || die "$EX_CONFIG" "cannot read the server key file $file (LOG2AWS_KEY_FILE)"
	KEY_HEX=
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line//[[:space:]]/}
		case $line in '' | '#'*) continue ;; esac
		KEY_HEX=$line
		break
	done <"$file"
	case $KEY_HEX in
	'' | *[!0-9A-Fa-f]*) die "$EX_CONFIG" "$file: the key must be hex digits (openssl rand -hex 32)" ;;
	esac
	if [ "${#KEY_HEX}" -lt 32 ] || [ "${#KEY_HEX}" -gt 128 ] || [ $((${#KEY_HEX} % 2)) -ne 0 ]; then
		die "$EX_CONFIG" "$file: the key must be 32 to 128 hex digits, got ${#KEY_HEX}"
	fi
}

# ---------------------------------------------------------------- dates (GNU or BSD date)

date_flavour() {
	if date -d '2000-01-01' +%Y >/dev/null 2>&1; then
		echo gnu
	elif date -j -f %Y-%m-%d 2000-01-01 +%Y >/dev/null 2>&1; then
		echo bsd
	else
		die "$EX_CONFIG" "date(1) supports neither GNU -d nor BSD -j -f; pass --date"
	fi
}

format_day() { # format_day YYYY-MM-DD FORMAT
	case $(date_flavour) in
	gnu) date -d "$1" +"$2" 2>/dev/null ;;
	bsd) date -j -f %Y-%m-%d "$1" +"$2" 2>/dev/null ;;
	esac
}

yesterday() {
	case $(date_flavour) in
	gnu) date -d yesterday +%Y-%m-%d ;;
	bsd) date -v-1d +%Y-%m-%d ;;
	esac
}

# ---------------------------------------------------------------- checksums

sha256_stdin() { # hex SHA-256 of stdin
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 | cut -d' ' -f1
	elif command -v openssl >/dev/null 2>&1; then
		openssl dgst -sha256 -r | cut -d' ' -f1
	else
		die "$EX_CONFIG" "no sha256sum, shasum or openssl found"
	fi
}

sha256_hex() { sha256_stdin <"$1"; }

hex_bytes() { # hex_bytes HEX: the bytes HEX spells, on stdout (printf is a builtin: no argv)
	local hex=$1 i escaped=''
	for ((i = 0; i < ${#hex}; i += 2)); do escaped+="\\x${hex:i:2}"; done
	printf '%b' "$escaped"
}

xor_pad() { # xor_pad KEY_HEX BYTE: the key zero-padded to 64 bytes, each byte XOR BYTE, in hex
	local key=$1 pad=$2 i out=''
	while [ "${#key}" -lt 128 ]; do key+=00; done
	for ((i = 0; i < 128; i += 2)); do out+=$(printf '%02x' $((0x${key:i:2} ^ pad))); done
	printf '%s' "$out"
}

hmac_sha256() { # hmac_sha256 KEY_HEX MESSAGE: RFC 2104 HMAC-SHA256, hex
	local inner
	inner=$({
		hex_bytes "$(xor_pad "$1" 0x36)"
		printf '%s' "$2"
	} | sha256_stdin)
	{
		hex_bytes "$(xor_pad "$1" 0x5c)"
		hex_bytes "$inner"
	} | sha256_stdin
}

md5_hex() { # empty output when no tool is available
	if command -v md5sum >/dev/null 2>&1; then
		md5sum "$1" | cut -d' ' -f1
	elif command -v md5 >/dev/null 2>&1; then
		md5 -q "$1"
	fi
}

base64_to_hex() { # empty output when base64(1) is missing
	command -v base64 >/dev/null 2>&1 || return 0
	printf '%s' "$1" | base64 -d 2>/dev/null | od -An -v -tx1 | tr -d ' \n'
}

# ---------------------------------------------------------------- locking

LOCK_DIR=
acquire_lock() {
	local lock=$LOCK_FILE
	if command -v flock >/dev/null 2>&1; then
		exec 9>>"$lock" || die "$EX_CONFIG" "cannot open lock file $lock"
		flock -n 9 || die "$EX_LOCKED" "another $PROG run holds $lock"
		return
	fi
	if ! mkdir "$lock.d" 2>/dev/null; then
		local pid
		pid=$(cat "$lock.d/pid" 2>/dev/null || true)
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			die "$EX_LOCKED" "another $PROG run (pid $pid) holds $lock.d"
		fi
		rm -rf "$lock.d" # stale: its owner is gone
		mkdir "$lock.d" 2>/dev/null || die "$EX_LOCKED" "another $PROG run holds $lock.d"
	fi
	LOCK_DIR=$lock.d
	echo "$$" >"$LOCK_DIR/pid"
}

# ---------------------------------------------------------------- HTTP

WORK=
cleanup() {
	[ -z "$WORK" ] || rm -rf "$WORK"
	[ -z "$LOCK_DIR" ] || rm -rf "$LOCK_DIR"
}

json_string() { # json_string KEY FILE: a top-level "KEY": "value" of a one-line JSON object
	sed -n 's/.*"'"$1"'": *"\([^"]*\)".*/\1/p' "$2" | head -n 1
}

json_headers() { # "Name: value" lines from the "headers": {...} object
	sed -n 's/.*"headers": *{\([^}]*\)}.*/\1/p' "$1" |
		tr ',' '\n' | sed -n 's/^ *"\([^"]*\)": *"\([^"]*\)" *$/\1: \2/p'
}

# request_url: GET the presigned URL into $WORK/api.json; sets HTTP_CODE and CURL_RC.
# The request is signed with this server's key over what the upload service checks
# (logferry.upload.string_to_sign), with the current time: a signature is good for 5 minutes.
request_url() {
	local sep='?' ts signature
	case $LOG2AWS_API_URL in *'?'*) sep='&' ;; esac
	ts=$(date +%s)
	signature=$(hmac_sha256 "$KEY_HEX" \
		"$(printf 'logferry-upload-v1\n%s\n%s\n1\n%s\n%s\n%s' "$LOG2AWS_SERVER" "$DAY" "$SIZE" "$SHA_HEX" "$ts")")
	local url="${LOG2AWS_API_URL}${sep}server=${LOG2AWS_SERVER}&date=${DAY}&gzip=1"
	url="${url}&size=${SIZE}&sha256=${SHA_HEX}&ts=${ts}&signature=${signature}"
	HTTP_CODE=$(curl -sS --connect-timeout 15 --max-time "$LOG2AWS_TIMEOUT" \
		-o "$WORK/api.json" -w '%{http_code}' "$url" 2>"$WORK/curl.err")
	CURL_RC=$?
}

# put_file: PUT the gzip to the presigned URL; sets HTTP_CODE and CURL_RC.
put_file() {
	local url=$1 args=() line
	while IFS= read -r line || [ -n "$line" ]; do # the API's JSON may lack a final newline
		case $line in [Cc]ontent-[Ll]ength:*) continue ;; esac # curl sets it from the file
		args+=(-H "$line")
	done <"$WORK/headers.txt"
	HTTP_CODE=$(curl -sS --connect-timeout 15 --max-time "$LOG2AWS_TIMEOUT" -X PUT \
		-T "$GZ" ${args[@]+"${args[@]}"} -D "$WORK/put.headers" -o "$WORK/put.body" -w '%{http_code}' \
		"$url" 2>"$WORK/curl.err")
	CURL_RC=$?
}

retryable() { # after a curl call: network error or 5xx
	case $RETRY_CURL_CODES in *" $CURL_RC "*) return 0 ;; esac
	[ "$CURL_RC" -eq 0 ] && [ "${HTTP_CODE:-0}" -ge 500 ]
}

failure() { # a short description of the last curl call
	if [ "$CURL_RC" -ne 0 ]; then
		printf 'curl exit %s: %s' "$CURL_RC" "$(tr '\n' ' ' <"$WORK/curl.err")"
	else
		printf 'HTTP %s' "$HTTP_CODE"
	fi
}

header_value() { # header_value NAME FILE: last value of header NAME (any case) in FILE
	tr -d '\r' <"$2" | awk -v name="$1" '
		{ i = index($0, ":") }
		i > 0 && tolower(substr($0, 1, i - 1)) == name { v = substr($0, i + 1); sub(/^ +/, "", v) }
		END { print v }'
}

verify_put() { # after a 2xx PUT: compare the checksum echoed by S3 and the ETag
	local echoed etag md5
	echoed=$(header_value x-amz-checksum-sha256 "$WORK/put.headers")
	if [ -n "$echoed" ] && [ "$echoed" != "$SHA_B64" ]; then
		die "$EX_UPLOAD" "checksum mismatch: S3 stored sha256 $echoed, sent $SHA_B64"
	fi
	etag=$(header_value etag "$WORK/put.headers" | tr -d '"')
	md5=$(md5_hex "$GZ")
	if [ -n "$etag" ] && [ -n "$md5" ] && [ "$etag" != "$md5" ]; then
		# SSE-KMS buckets return ETags that are not the MD5; S3 already checked the SHA-256.
		say "warning: ETag $etag is not the MD5 $md5 of the upload (SSE-KMS bucket?)"
	fi
	ETAG=$etag
}

upload() { # the whole exchange, retried on network errors and 5xx
	local attempt=1 delay=$LOG2AWS_BACKOFF url
	while :; do
		request_url
		if [ "$CURL_RC" -eq 0 ] && [ "$HTTP_CODE" = 200 ]; then
			url=$(json_string url "$WORK/api.json")
			KEY=$(json_string key "$WORK/api.json")
			json_headers "$WORK/api.json" >"$WORK/headers.txt"
			[ -n "$url" ] || die "$EX_REFUSED" "API answered 200 without a url: $(head -c 300 "$WORK/api.json")"
			check_scheme "the upload URL" "$url" "$EX_REFUSED"
			check_api_checksum
			put_file "$url"
			if [ "$CURL_RC" -eq 0 ]; then
				case $HTTP_CODE in
				2??)
					verify_put
					return 0
					;;
				400)
					if grep -q BadDigest "$WORK/put.body" 2>/dev/null; then
						die "$EX_UPLOAD" "checksum mismatch: S3 answered BadDigest for $KEY"
					fi
					;;
				esac
			fi
			retryable || die "$EX_UPLOAD" "PUT $KEY failed: $(failure) $(head -c 300 "$WORK/put.body" 2>/dev/null)"
			STAGE="PUT $KEY"
		elif retryable; then
			STAGE="API request"
		else
			[ "$CURL_RC" -eq 0 ] || die "$EX_UPLOAD" "API request failed: $(failure)"
			die "$EX_REFUSED" "API refused (HTTP $HTTP_CODE): $(head -c 300 "$WORK/api.json")"
		fi
		if [ "$attempt" -ge "$LOG2AWS_RETRIES" ]; then
			die "$EX_UPLOAD" "$STAGE failed after $attempt attempts: $(failure)"
		fi
		say "retry: $STAGE failed ($(failure)); attempt $((attempt + 1)) of $LOG2AWS_RETRIES in ${delay}s"
		sleep "$delay"
		attempt=$((attempt + 1))
		delay=$((delay * 2))
	done
}

check_api_checksum() { # the API must bind the URL to our checksum
	local bound
	bound=$(header_value x-amz-checksum-sha256 "$WORK/headers.txt")
	[ -n "$bound" ] || die "$EX_REFUSED" "API did not bind the URL to the checksum"
	SHA_B64=$bound
	local hex
	hex=$(base64_to_hex "$bound")
	if [ -n "$hex" ] && [ "$hex" != "$SHA_HEX" ]; then
		die "$EX_REFUSED" "API bound the URL to sha256 $hex, expected $SHA_HEX"
	fi
}

# ---------------------------------------------------------------- main

main() {
	local config='' config_given=0 dry_run=0 insecure=0
	DAY=''
	while [ $# -gt 0 ]; do
		case $1 in
		--config)
			[ $# -ge 2 ] || die "$EX_USAGE" "--config needs a file"
			config=$2 config_given=1
			shift 2
			;;
		--config=*) config=${1#*=} config_given=1 && shift ;;
		--date)
			[ $# -ge 2 ] || die "$EX_USAGE" "--date needs YYYY-MM-DD"
			DAY=$2
			shift 2
			;;
		--date=*) DAY=${1#*=} && shift ;;
		--dry-run) dry_run=1 && shift ;;
		--insecure-http) insecure=1 && shift ;;
		-h | --help)
			usage
			exit "$EX_OK"
			;;
		*)
			usage >&2
			die "$EX_USAGE" "unknown argument '$1'"
			;;
		esac
	done

	if [ "$config_given" = 1 ]; then
		load_config "$config"
	elif [ -e /etc/log2aws.conf ]; then
		load_config /etc/log2aws.conf
	fi
	: "${LOG2AWS_SERVER:=$(hostname 2>/dev/null || uname -n)}"
	: "${LOG2AWS_LOG_NAME:=%Y-%m-%d.log}"
	: "${LOG2AWS_RETRIES:=5}" "${LOG2AWS_BACKOFF:=2}" "${LOG2AWS_TIMEOUT:=300}"
	: "${LOG2AWS_KEY_FILE:=/etc/log2aws.key}" "${LOG2AWS_INSECURE_HTTP:=0}"
	[ "$insecure" = 0 ] || LOG2AWS_INSECURE_HTTP=1
	LOCK_FILE=${LOG2AWS_LOCK_FILE:-${TMPDIR:-/tmp}/log2aws.lock}
	check_config

	if [ -n "$DAY" ]; then
		case $DAY in
		[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) ;;
		*) die "$EX_USAGE" "--date must be YYYY-MM-DD, got '$DAY'" ;;
		esac
		[ "$(format_day "$DAY" %Y-%m-%d)" = "$DAY" ] || die "$EX_USAGE" "--date $DAY is not a calendar date"
	else
		DAY=$(yesterday)
	fi
	local name
	name=$(format_day "$DAY" "$LOG2AWS_LOG_NAME")
	LOG_FILE=$LOG2AWS_LOG_DIR/$name
	if [ ! -f "$LOG_FILE" ] || [ ! -r "$LOG_FILE" ]; then
		die "$EX_NOLOG" "no readable log file $LOG_FILE for $DAY"
	fi

	if [ "$dry_run" = 0 ]; then
		acquire_lock
	fi
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/log2aws.XXXXXX") || die "$EX_CONFIG" "cannot create a temp dir"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	GZ=$WORK/upload.log.gz
	case $LOG_FILE in
	*.gz) cp "$LOG_FILE" "$GZ" ;;
	*) gzip -c -n "$LOG_FILE" >"$GZ" ;;
	esac || die "$EX_UPLOAD" "cannot compress $LOG_FILE"
	SIZE=$(wc -c <"$GZ" | tr -d ' ')
	SHA_HEX=$(sha256_hex "$GZ")

	if [ "$dry_run" = 1 ]; then
		say "dry run: would upload $LOG_FILE as server=$LOG2AWS_SERVER date=$DAY" \
			"gzip bytes=$SIZE sha256=$SHA_HEX via $LOG2AWS_API_URL"
		exit "$EX_OK"
	fi
	upload
	say "uploaded $LOG_FILE server=$LOG2AWS_SERVER date=$DAY key=$KEY bytes=$SIZE" \
		"sha256=$SHA_HEX etag=${ETAG:-?}"
}

main "$@"
