#!/bin/bash
# The shell completions load without errors and complete commands, options and values.
# Usage: test_completions.sh COMPLETIONS_DIR BINFMTCTL, the directory holding the generated
# completions (bash's is named binfmtctl, as installed). Exit 77 (skip) outside CI when a
# shell or bash-completion is missing; in CI that is a failure.
set -u
dir=$1
binfmtctl=$2
missing() {
    if [ -n "${CI-}" ] && [ "${CI}" != false ]; then echo "FAIL: $1 is missing (scripts/setup.sh installs it)"; exit 1; fi
    echo "SKIP: $1 is missing"; exit 77
}
[ -r /usr/share/bash-completion/bash_completion ] || missing bash-completion
command -v zsh >/dev/null || missing zsh
command -v fish >/dev/null || missing fish

failures=0
expect() {  # expect WHAT GOT WANT
    if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: got '$2', want '$3'"; failures=$((failures + 1)); fi
}

# bash: load with bash-completion, then complete as the shell would.
out=$(bash --norc --noprofile -c '
    set -u
    source /usr/share/bash-completion/bash_completion
    source "$1/binfmtctl" || exit 1
    # No daemon here: the name lists must come back empty, silently.
    binfmtctl() { return 3; }
    compopt() { :; }  # works only inside a completion the shell itself runs
    complete_line() {
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE=$(echo "$*" | sed "s/ = /=/g"); COMP_POINT=${#COMP_LINE}
        COMPREPLY=(); _binfmtctl
        echo "${COMPREPLY[*]-}"
    }
    complete_line binfmtctl en
    complete_line binfmtctl --for
    # bash splits "--from=b" at the "=" (COMP_WORDBREAKS) into three words.
    complete_line binfmtctl --from = b
    complete_line binfmtctl --format = js
    complete_line binfmtctl enable ""
    complete_line binfmtctl st
    complete_line binfmtctl do
    complete_line binfmtctl help mo
' bash "$dir" 2>&1)
expect "bash loads and completes" "$out" "enable
--format=
binfmt.d binfmt-support
json

status
doctor
monitor"

# bash, with a daemon that answers: architecture and handler names.
out=$(bash --norc --noprofile -c '
    source /usr/share/bash-completion/bash_completion
    source "$1/binfmtctl"
    binfmtctl() {
        case $1 in
            archs) printf "ARCH ALIASES ENABLED EMULATOR\naarch64 arm64,armv8 yes -\nriscv64 - no -\n\n2 architectures.\n" ;;
            list) printf "NAME ARCH STATE\nqemu-aarch64 aarch64 registered\nWSLInterop - registered\n\n2 handler(s) listed\n" ;;
        esac
    }
    COMP_WORDS=(binfmtctl enable ""); COMP_CWORD=2; COMP_LINE="binfmtctl enable "; COMP_POINT=17
    COMPREPLY=(); _binfmtctl; echo "${COMPREPLY[*]}"
' bash "$dir" 2>&1)
expect "bash completes names from the daemon" "$out" "aarch64 arm64 armv8 riscv64 qemu-aarch64 WSLInterop"

# Every command binfmtctl knows, and nothing else: they come from its command table.
want=$("$binfmtctl" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | tr '\n' ' ')
out=$(bash --norc --noprofile -c '
    source /usr/share/bash-completion/bash_completion
    source "$1/binfmtctl"
    compopt() { :; }
    COMP_WORDS=(binfmtctl ""); COMP_CWORD=1; COMP_LINE="binfmtctl "; COMP_POINT=10
    COMPREPLY=(); _binfmtctl; echo "${COMPREPLY[*]} "
' bash "$dir" 2>&1)
expect "bash completes the commands of binfmtctl --help" "$out" "$want"
out=$(grep -c "not __fish_seen_subcommand_from \$commands\" -a" "$dir/binfmtctl.fish")
expect "fish describes every command" "$out" "$(echo $want | wc -w)"
out=$(grep -c "^    '[a-z]*:" "$dir/_binfmtctl")
expect "zsh describes every command" "$out" "$(echo $want | wc -w)"

out=$(zsh -n "$dir/_binfmtctl" 2>&1) && expect "zsh parses its completion" "$out" ""
[ $? -eq 0 ] || expect "zsh parses its completion" "$out" ""
out=$(fish --no-execute "$dir/binfmtctl.fish" 2>&1) && expect "fish parses its completion" "$out" ""
[ $? -eq 0 ] || expect "fish parses its completion" "$out" ""

[ $failures -eq 0 ]
