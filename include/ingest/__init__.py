"""Getting SIE files into the warehouse: the Fortnox landing zone and the inbox folder."""
