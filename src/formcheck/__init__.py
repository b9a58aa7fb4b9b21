"""formcheck: exercise form checking for people with low back pain.

Data flows one way: frames -> pose engine (landmarks) -> measures -> exercise state machine
(events) -> results -> storage, reports, overlays, dashboard.
"""

__version__ = "0.1.0"
