"""ec2-warden: EC2 fleet security responders. The version is the installed command's --version."""

__version__ = "0.1.0"
