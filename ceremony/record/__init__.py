"""Evidence: the signed PDF ceremony record, custodian component forms, printing, verification."""
