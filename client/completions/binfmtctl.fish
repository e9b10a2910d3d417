# fish completion for binfmtctl(1)

function __binfmtctl_names
    binfmtctl list 2>/dev/null | awk 'NR > 1 && NF == 0 { exit } NR > 1 { print $1 }'
    binfmtctl archs 2>/dev/null | awk 'NR > 1 && NF == 0 { exit } NR > 1 { print $1 }'
end

set -l commands status list show enable disable reload archs plan doctor monitor import export help
complete -c binfmtctl -f
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a status -d 'daemon, kernel and configuration state'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a list -d 'every binfmt_misc handler'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a show -d 'one handler in detail'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a enable -d 'enable architectures or handlers'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a disable -d 'disable architectures or handlers'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a reload -d 're-read the configuration'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a archs -d 'known architectures and emulators'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a plan -d 'what a reconcile would do'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a doctor -d 'the whole environment in one report'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a monitor -d 'follow binfmtd changes live'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a help -d 'help on a command'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a import -d 'binfmtd.json from other formats'
complete -c binfmtctl -n "not __fish_seen_subcommand_from $commands" -a export -d 'handlers in other formats'
complete -c binfmtctl -n "__fish_seen_subcommand_from enable disable show" -a '(__binfmtctl_names)'
complete -c binfmtctl -n "__fish_seen_subcommand_from import" -F
complete -c binfmtctl -n "__fish_seen_subcommand_from help" -a "$commands"
complete -c binfmtctl -l json -d 'machine-readable output'
complete -c binfmtctl -l runtime -d 'until the next reboot only'
complete -c binfmtctl -l no-ask-password -d 'do not ask for a password'
complete -c binfmtctl -l from -x -a 'binfmt.d binfmt-support kernel' -d 'import source'
complete -c binfmtctl -l format -x -a 'binfmt.d binfmt-support json' -d 'export format'
complete -c binfmtctl -l output -r -F -d 'write here'
complete -c binfmtctl -l all -d 'foreign entries too'
complete -c binfmtctl -s h -l help -d 'show help'
complete -c binfmtctl -l version -d 'show the version'
