"""Learning collation: every source of learning, the regional register, search, and recommendations to impact."""
