"""ganzoo's Gradio demo on http://127.0.0.1:7860.

    python app.py [--host 0.0.0.0] [--port 8080]     # or GRADIO_SERVER_NAME / GRADIO_SERVER_PORT

All of the demo lives in ganzoo/demo.py, so `ganzoo demo` starts the same page after `pip install`.
"""
import sys

from ganzoo.errors import GanzooError

if __name__ == "__main__":
    try:
        from ganzoo.demo import main
    except GanzooError as e:          # gradio is not installed: one line that says what to do
        print(f"app.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(prog="app.py"))
