# bash completion for mirai: commands, then each command's options as its --help lists them
# (so they never go stale), and file names elsewhere.
_mirai() {
  local cur=${COMP_WORDS[COMP_CWORD]} command=${COMP_WORDS[1]:-}
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "run map daemon dispatcher status launch render config help --version --help" -- "$cur"))
    return
  fi
  if [[ $command == help ]]; then
    COMPREPLY=($(compgen -W "run map daemon dispatcher status launch render config" -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    local options
    options=$("${COMP_WORDS[0]}" help "$command" 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _mirai mirai
