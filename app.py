"""ganzoo's Gradio demo on http://127.0.0.1:7860 (python app.py --host 0.0.0.0 --port 8080 to change).

All of the demo lives in ganzoo/demo.py, so `ganzoo demo` starts the same page after `pip install`.
"""
from ganzoo.demo import main

if __name__ == "__main__":
    main()
