"""Text as Vietnamese readers write it: NFC cleaning and accent folding, dates, HTML to
plain text, and the message catalogs (vi, en). Imports nothing of ours."""
