"""The console: a web window on Steward for the people accountable (admins, leads, HR, IT) and members."""
