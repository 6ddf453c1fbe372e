"""Services: the business operations controllers and the CLI call. No web code here."""
