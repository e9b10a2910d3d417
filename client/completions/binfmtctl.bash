# bash completion for binfmtctl(1)

# Names from the running daemon; nothing (and no error) when it is not running.
_binfmtctl_archs() {
    binfmtctl archs 2>/dev/null | awk 'NR > 1 && NF == 0 { exit } NR > 1 { print $1; n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] != "-") print a[i] }'
}
_binfmtctl_handlers() {
    binfmtctl list 2>/dev/null | awk 'NR > 1 && NF == 0 { exit } NR > 1 { print $1 }'
}

_binfmtctl() {
    local cur prev words cword
    _init_completion -s || return

    local commands="status list show enable disable reload archs plan doctor monitor import export help"
    local options="--json --runtime --no-ask-password --from= --format= --output= --all --help --version"

    case $prev in
        --from) COMPREPLY=($(compgen -W "binfmt.d binfmt-support kernel" -- "$cur")); return ;;
        --format) COMPREPLY=($(compgen -W "binfmt.d binfmt-support json" -- "$cur")); return ;;
        --output) _filedir; return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
        return
    fi

    local command="" i
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} != -* ]]; then
            command=${words[i]}
            break
        fi
    done
    case $command in
        "") COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
        enable) COMPREPLY=($(compgen -W "$(_binfmtctl_archs) $(_binfmtctl_handlers)" -- "$cur")) ;;
        disable | show) COMPREPLY=($(compgen -W "$(_binfmtctl_handlers) $(_binfmtctl_archs)" -- "$cur")) ;;
        import) _filedir ;;
        help) COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
    esac
}
complete -F _binfmtctl binfmtctl
