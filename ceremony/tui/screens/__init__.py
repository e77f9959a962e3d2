"""One screen per file; each asks one thing of one person and dismisses with the answer."""
