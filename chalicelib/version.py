"""ec2-warden's version, shown in reports (tests/unit/test_report_view.py holds it equal to pyproject.toml)."""

__version__ = "0.1.0"
