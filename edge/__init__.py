"""printstation station side: kiosk, scanner service, printer spooler and sync agent."""

__version__ = "0.1.0"
