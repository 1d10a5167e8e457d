"""IVR: the call-control edge and the IVR flow engine: every call enters here."""
