"""ganzoo's demo as a Hugging Face Space: the page of ganzoo/demo.py, nothing else.

On a Space (which sets SPACE_ID) the zoo's models load from their Hub repos and the page listens
on 0.0.0.0:7860 (or wherever GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say). Anywhere else it is
`python app.py` of the repository: the bundled models, on 127.0.0.1:7860.
"""
import os
import sys

if __name__ == "__main__":
    if os.environ.get("SPACE_ID"):
        os.environ.setdefault("GANZOO_SOURCE", "hub")         # ganzoo.load(name) then reads the Hub repo
        os.environ.setdefault("GRADIO_SERVER_NAME", "0.0.0.0")
    from ganzoo.errors import GanzooError
    try:
        from ganzoo.demo import main
    except GanzooError as e:          # gradio is not installed
        print(f"app.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(prog="app.py"))
