"""SQL repositories, one per aggregate; each works inside one transaction's connection."""
