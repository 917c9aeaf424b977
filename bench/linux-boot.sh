#!/usr/bin/env bash
# Times a Linux boot to the busybox init marker under emu (JIT and interpreter) and under
# qemu-system-x86_64 -accel tcg, same kernel, initramfs, memory and command line, in one run, and
# prints wall seconds and the ratio (QEMU time / emu time: above 1.0 means emu is faster).
#   bench/linux-boot.sh [--runs N] [--dir DIR] [jit|interp|qemu ...]   (default: all three, 1 run)
# The guest comes from scripts/get-linux-guest (DIR defaults to .cache/linux-guest).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.cache/linux-guest"
runs=1
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        *) break ;;
    esac
done
engines=("$@")
[ ${#engines[@]} -eq 0 ] && engines=(qemu jit interp)
marker="EMU-LINUX-GUEST: init ready"
[ -f "$dir/vmlinuz" ] && [ -f "$dir/initramfs.gz" ] || { echo "linux-boot.sh: no guest in $dir (run scripts/get-linux-guest)" >&2; exit 1; }
"$root/emu" run --serial none --max-instructions 1 >/dev/null 2>&1 || true   # build emu once, outside the timings
emu_dll="$root/.build/emu/emu.dll"
. "$root/scripts/runtime-env"   # the runtime settings ./emu starts emu with
common=(-display none -nodefaults -serial stdio -no-reboot -m 512 -kernel "$dir/vmlinuz" -initrd "$dir/initramfs.gz" -append "console=ttyS0 panic=-1")
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Runs the command in the background and returns the seconds until the marker shows in its output
# (or "fail" after 600 s or when it exits first).
boot() {
    local t0 t1 pid
    : >"$log"
    t0=$(date +%s.%N)
    "$@" >"$log" 2>&1 &
    pid=$!
    while ! grep -q "$marker" "$log" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$(awk "BEGIN { print (($(date +%s.%N) - $t0) > 600) }")" = 1 ]; then
            kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
            echo fail; return
        fi
        sleep 0.05
    done
    t1=$(date +%s.%N)
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    awk "BEGIN { printf \"%.2f\", $t1 - $t0 }"
}

printf '%-8s %s\n' engine "seconds to the init marker (load when started)"
declare -A best
for e in "${engines[@]}"; do
    times=()
    for ((r = 0; r < runs; r++)); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        case "$e" in
            qemu) t=$(boot qemu-system-x86_64 -accel tcg "${common[@]}") ;;
            jit) t=$(boot dotnet "$emu_dll" -accel tcg "${common[@]}") ;;   # emu's JIT under QEMU's name
            interp) t=$(boot dotnet "$emu_dll" -accel interp "${common[@]}") ;;
            *) echo "linux-boot.sh: unknown engine $e" >&2; exit 1 ;;
        esac
        times+=("$t (load $load)")
        if [ "$t" != fail ] && { [ -z "${best[$e]:-}" ] || [ "$(awk "BEGIN { print ($t < ${best[$e]}) }")" = 1 ]; }; then best[$e]=$t; fi
    done
    printf '%-8s %s\n' "$e" "$(IFS=,; echo "${times[*]}" | sed 's/,/, /g')"
done
if [ -n "${best[qemu]:-}" ]; then
    for e in jit interp; do
        [ -n "${best[$e]:-}" ] && printf 'best %s: QEMU/emu %.3f\n' "$e" "$(awk "BEGIN { print ${best[qemu]} / ${best[$e]} }")"
    done
fi
