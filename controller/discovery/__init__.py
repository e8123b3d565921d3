"""LAN discovery: devices announce over mDNS/DNS-SD, wait as pending, join only when approved."""
