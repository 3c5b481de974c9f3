# Use TinyTorch's environment in this shell:  source activate.sh   (after ./setup-environment.sh once)
_tinytorch_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
if [ ! -f "$_tinytorch_root/.venv/bin/activate" ]; then
    echo "error: no environment yet; run ./setup-environment.sh first" >&2
else
    . "$_tinytorch_root/.venv/bin/activate"
    if [ -d "$_tinytorch_root/.jupyter" ]; then
        export JUPYTER_CONFIG_PATH="$_tinytorch_root/.jupyter${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
    fi
    echo "TinyTorch environment active ($(python --version 2>&1)). Try: tito system health"
fi
unset _tinytorch_root
