"""The main job: run every earshot system end to end and write one HTML report.

Like `earshot.cli`, this package sits on top of everything and may import any layer.
"""

from earshot.demo.runner import DemoContext, run_demo

__all__ = ["DemoContext", "run_demo"]
