"""A candidate CSV with one row of every kind the import checks (lines 2-14), for the people tests
and the CLI tests."""

BAD_ROWS = """name,phone,email,timezone,consent,notes,source
Ann Able,(212) 555-0100,ann@example.com,,yes,,referral
Ben Bad Phone,12345,,,yes,,
Cat No Name Phone,,,,yes,,
,+1 212 555 0102,,,yes,,
Dan Letters,call me maybe,,,yes,,
Eve Email,+1 212 555 0103,not-an-email,,yes,,
Fay Zone,+1 212 555 0104,,Mars/Base,yes,,
Gus Consent,+1 212 555 0105,,,perhaps,,
Hal Dup,212-555-0100,,,yes,,
Ida Extra,+1 212 555 0106,,,yes,,,surplus field
Jo Intl,+44 20 7946 0958,,Europe/London,no,Prefers mornings,
Kim Two Zones,+1 208 555 0100,,,1,,
Lee Premium,+1 900 555 0100,,,yes,,
"""
