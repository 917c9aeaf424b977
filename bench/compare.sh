#!/usr/bin/env bash
# Runs each guest benchmark of roms/bench under emu and under qemu-system-x86_64 -accel tcg,
# in the same run, on the same binary, and prints wall time per benchmark and the ratio
# (QEMU time / emu time: above 1.0 means emu is faster). Outputs are compared too: a benchmark
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
common=(-display none -nodefaults -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -m 128 -kernel "$kernel")

now() { date +%s.%N; }
printf '%-10s %10s %10s %8s  %s\n' benchmark "emu (s)" "qemu (s)" ratio check
for b in "${benches[@]}"; do
    t0=$(now); emu_out=$(timeout 1200 dotnet "$emu_dll" "${accel[@]}" "${common[@]}" -append "$b$repeat" 2>&1 | tr -d '\r'); t1=$(now)
    qemu_out=$(timeout 600 qemu-system-x86_64 -accel tcg "${common[@]}" -append "$b$repeat" 2>&1 | tr -d '\r'); t2=$(now)
    emu_s=$(awk "BEGIN { print $t1 - $t0 }"); qemu_s=$(awk "BEGIN { print $t2 - $t1 }")
    ratio=$(awk "BEGIN { print $qemu_s / $emu_s }")
    check=ok; [ "$emu_out" = "$qemu_out" ] || check="WRONG (emu: $emu_out | qemu: $qemu_out)"
    printf '%-10s %10.2f %10.2f %8.3f  %s\n' "$b" "$emu_s" "$qemu_s" "$ratio" "$check"
done
