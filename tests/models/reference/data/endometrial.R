# Writes data/endometrial.csv from the brglm2 package (Debian r-cran-brglm2):
# Heinze & Schemper (2002) endometrial cancer data, 79 patients; NV is quasi-separated.
#   Rscript tests/models/reference/data/endometrial.R
data("endometrial", package = "brglm2")
write.csv(endometrial, "tests/models/reference/data/endometrial.csv", row.names = FALSE)
