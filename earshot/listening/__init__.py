"""The web listening test (JND and MUSHRA-style judgments) and its adaptive procedure."""
