#!/usr/bin/env bash
# Runs each guest benchmark of roms/bench under emu and under qemu-system-x86_64 -accel tcg,
# in the same run, on the same binary, and prints wall time per benchmark and the ratio
# (QEMU time / emu time: above 1.0 means emu is faster), and the same for CPU time (user +
# system), which a loaded host disturbs less. Outputs are compared too: a benchmark
# whose checksum differs between the two is reported as WRONG.
#   bench/compare.sh [--accel interp|tcg] [--repeat N] [benchmark ...]     (default: all, once, on emu's JIT)
# --repeat N runs each benchmark N times in a row inside one guest boot (the kernel command line
# "NAME N"), so that process start-up (about 0.1 s for emu's .NET runtime) weighs less.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kernel="$root/roms/bench/bench.elf"
accel=(-accel tcg)
repeat=""
while [ $# -gt 0 ]; do
    case "$1" in
        --accel) accel=(-accel "$2"); shift 2 ;;
        --repeat) repeat=" $2"; shift 2 ;;
        *) break ;;
    esac
done
benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(sort hash matmul search bytecode memcpy)
command -v qemu-system-x86_64 >/dev/null || { echo "compare.sh: qemu-system-x86_64 is needed (apt-get install qemu-system-x86)" >&2; exit 1; }
"$root/emu" run --serial none --max-instructions 1 >/dev/null 2>&1 || true   # build emu once, outside the timings
emu_dll="$root/.build/emu/emu.dll"
. "$root/scripts/runtime-env"   # the runtime settings ./emu starts emu with
common=(-display none -nodefaults -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -m 128 -kernel "$kernel")

times="$(mktemp)"; output="$(mktemp)"
trap 'rm -f "$times" "$output"' EXIT

# Runs the command with its output in $out and its wall and CPU (user + system) seconds in $wall and $cpu.
measure() {
    local TIMEFORMAT='%R %U %S'
    { time "$@" > "$output" 2>&1; } 2> "$times"
    out=$(tr -d '\r' < "$output")
    read -r wall user sys < "$times"
    cpu=$(awk "BEGIN { print $user + $sys }")
}

# The wall-clock ratio is the comparison; CPU time, which other load on the host disturbs less,
# is printed beside it (emu's includes its compiler and runtime threads, QEMU's its I/O thread).
printf '%-10s %10s %10s %8s %10s %10s %8s  %s\n' benchmark "emu (s)" "qemu (s)" ratio "emu cpu" "qemu cpu" "cpu ratio" check
for b in "${benches[@]}"; do
    measure timeout 1200 dotnet "$emu_dll" "${accel[@]}" "${common[@]}" -append "$b$repeat"; emu_out=$out; emu_s=$wall; emu_cpu=$cpu
    measure timeout 600 qemu-system-x86_64 -accel tcg "${common[@]}" -append "$b$repeat"; qemu_out=$out; qemu_s=$wall; qemu_cpu=$cpu
    ratio=$(awk "BEGIN { print $qemu_s / $emu_s }")
    cpu_ratio=$(awk "BEGIN { print $qemu_cpu / $emu_cpu }")
    check=ok; [ "$emu_out" = "$qemu_out" ] || check="WRONG (emu: $emu_out | qemu: $qemu_out)"
    printf '%-10s %10.2f %10.2f %8.3f %10.2f %10.2f %8.3f  %s\n' "$b" "$emu_s" "$qemu_s" "$ratio" "$emu_cpu" "$qemu_cpu" "$cpu_ratio" "$check"
done
