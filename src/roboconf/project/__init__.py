"""Loading application templates from folders and zips, with every validation stage."""
