# Use TinyTorch's environment in this shell:  source activate.sh   (after ./setup-environment.sh once)
_tito_course_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
if [ ! -f "$_tito_course_root/.venv/bin/activate" ]; then
    echo "error: no environment yet; run ./setup-environment.sh first" >&2
else
    . "$_tito_course_root/.venv/bin/activate"
    if [ -d "$_tito_course_root/.jupyter" ]; then
        export JUPYTER_CONFIG_PATH="$_tito_course_root/.jupyter${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
    fi
    echo "TinyTorch environment active ($(python --version 2>&1)). Try: tito system health"
fi
unset _tito_course_root
