#!/usr/bin/env bash
# The Debian package, as far as a machine without a running systemd can take it: built from
# BUILD_DIR (CPack), inspected, installed with dpkg, the unit checked by systemd-analyze, the
# daemon started the way the unit starts it (as the latchkey user, no new privileges, no
# capabilities, umask 077) and answering /healthz, upgraded with an edited conffile, removed
# and purged. Installs into this machine's /usr, so it needs root, refuses to touch an
# installed latchkey, and takes everything out again at the end.
#   tests/package/package_test.sh BUILD_DIR     (ctest: `package`, labels e2e and package)
set -euo pipefail
build=$(cd "$1" && pwd)
if [[ $(id -u) != 0 ]]; then echo "SKIP: installing a package needs root"; exit 77; fi
if dpkg-query -W -f='${Status}' latchkey 2>/dev/null | grep -q installed; then
  echo "FAIL: latchkey is already installed here; this test installs and purges its own" >&2
  exit 1
fi

work=$(mktemp -d)
pid=
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
  dpkg -P latchkey >/dev/null 2>&1 || true
  userdel latchkey 2>/dev/null || true
  groupdel latchkey 2>/dev/null || true
  rm -rf /var/lib/latchkey /etc/latchkey "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
mode_owner() { stat -c '%a %U:%G' "$1"; }
expect_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"; }

step "build two packages: this version and a later one"
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/v1" >/dev/null)
deb1=$(ls "$work"/v1/*.deb)
version=$(dpkg-deb -f "$deb1" Version)
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/v2" -D "CPACK_PACKAGE_VERSION=$version+test1" >/dev/null)
deb2=$(ls "$work"/v2/*.deb)

step "contents, conffiles and dependencies"
contents=$(dpkg-deb -c "$deb1")
for path in ./usr/bin/latchkey ./lib/systemd/system/latchkey.service ./etc/latchkey/latchkey.toml \
            ./usr/share/doc/latchkey/README.md; do
  grep -q " $path\$" <<<"$contents" || fail "$path is not in the package"
done
dpkg-deb --ctrl-tarfile "$deb1" | tar -xO ./conffiles | grep -qx /etc/latchkey/latchkey.toml \
  || fail "the settings file is not a conffile"
depends=$(dpkg-deb -f "$deb1" Depends)
for dependency in adduser libsodium23 libpqxx-6.4 libsqlite3-0 libjemalloc2; do
  grep -q "$dependency" <<<"$depends" || fail "Depends lacks $dependency: $depends"
done

step "install"
dpkg -i "$deb1" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i"; }
IFS=: read -r _ _ uid _ _ _ shell < <(getent passwd latchkey) || fail "no latchkey user"
(( uid < 1000 )) || fail "latchkey is not a system user (uid $uid)"
expect_eq "$shell" /usr/sbin/nologin "the latchkey user's shell"
expect_eq "$(mode_owner /var/lib/latchkey)" "700 latchkey:latchkey" "/var/lib/latchkey"
expect_eq "$(mode_owner /etc/latchkey/latchkey.toml)" "640 root:latchkey" "the settings file"
/usr/bin/latchkey --version | grep -Eq "^latchkey $version \(commit [^ )]+\)$" || fail "--version"

step "the unit: systemd-analyze verify (no output allowed) and security"
unit=/lib/systemd/system/latchkey.service
verify=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $verify"
[[ -z "$verify" ]] || fail "systemd-analyze verify said: $verify"
exposure=$(systemd-analyze security --offline=true --threshold=20 "$unit" 2>&1 | grep -o 'exposure level for latchkey.service: [0-9.]*') \
  || fail "systemd-analyze security: exposure above 2.0"
echo "   $exposure"

port=$(( 20000 + RANDOM % 20000 ))
start() {  # as ExecStart=, User=latchkey, NoNewPrivileges=, CapabilityBoundingSet= and UMask= run it
  (umask 077 && exec setpriv --reuid latchkey --regid latchkey --init-groups --no-new-privs \
     --bounding-set=-all --inh-caps=-all -- env -i PATH=/usr/bin:/bin HOME=/var/lib/latchkey \
     /usr/bin/latchkey --data-dir /var/lib/latchkey --config /etc/latchkey/latchkey.toml \
     serve --listen "127.0.0.1:$port") >>"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; fail "the daemon exited"; }
    sleep 0.1
  done
  cat "$work/serve.log"; fail "no /healthz within 30 s"
}
stop() {
  kill -TERM "$pid"
  local code=0
  wait "$pid" || code=$?
  pid=
  expect_eq "$code" 0 "the daemon's exit code after SIGTERM"
}
as_latchkey() { runuser -u latchkey -- /usr/bin/latchkey --data-dir /var/lib/latchkey --config /etc/latchkey/latchkey.toml "$@"; }

step "start as the latchkey user"
start
expect_eq "$(ps -o user= -p "$pid")" latchkey "the daemon's user"
grep -q CapEff:.0000000000000000 "/proc/$pid/status" || fail "the daemon holds capabilities"
grep -q 'NoNewPrivs:.1' "/proc/$pid/status" || fail "the daemon may gain privileges"
for file in master.key admin-token latchkey.db; do
  expect_eq "$(mode_owner "/var/lib/latchkey/$file")" "600 latchkey:latchkey" "/var/lib/latchkey/$file"
done
as_latchkey agent create bot --allow 'work:GET:/v1/**' >/dev/null
key_before=$(sha256sum </var/lib/latchkey/master.key)
stop

step "upgrade, keeping the operator's edit of the settings"
echo '# edited by the operator' >>/etc/latchkey/latchkey.toml
dpkg -i --force-confold "$deb2" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "dpkg -i (upgrade)"; }
expect_eq "$(dpkg-query -W -f='${Version}' latchkey)" "$version+test1" "the installed version"
grep -q '^# edited by the operator$' /etc/latchkey/latchkey.toml || fail "the upgrade lost the edit"
expect_eq "$(sha256sum </var/lib/latchkey/master.key)" "$key_before" "the master key after the upgrade"
start
as_latchkey --json agent list | grep -q '"bot"' || fail "the agent did not survive the upgrade"
stop

step "remove keeps the settings and the store; purge deletes the settings only"
dpkg -r latchkey >/dev/null
[[ ! -e /usr/bin/latchkey ]] || fail "remove left /usr/bin/latchkey"
[[ -f /etc/latchkey/latchkey.toml ]] || fail "remove deleted the settings"
dpkg -P latchkey >"$work/purge.log" 2>&1
[[ ! -e /etc/latchkey ]] || fail "purge left /etc/latchkey"
[[ -f /var/lib/latchkey/master.key && -f /var/lib/latchkey/latchkey.db ]] || fail "purge deleted the store"
grep -q "/var/lib/latchkey .* is kept" "$work/purge.log" || fail "purge did not say the store is kept"
echo "== package test passed"
