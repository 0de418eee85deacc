"""The register: the protocol's single electronic record of every contact, and its ledger."""
