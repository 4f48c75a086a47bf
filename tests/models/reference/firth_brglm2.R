# Firth (bias-reduced, "AS_mean") estimates from brglm2, an independent implementation, to
# cross-check the point estimates behind logistf_published.json.
#   Rscript tests/models/reference/firth_brglm2.R      (writes tests/models/reference/firth_brglm2.json)
suppressPackageStartupMessages({library(brglm2); library(jsonlite)})
sex2 <- read.csv("tests/models/reference/data/sex2.csv")
endo <- read.csv("tests/models/reference/data/endometrial.csv")
fit <- function(formula, data) {
  f <- glm(formula, family = binomial, data = data, method = "brglmFit", type = "AS_mean",
           epsilon = 1e-12, maxit = 200)
  list(coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))))
}
write_json(list(R = R.version.string, brglm2 = as.character(packageVersion("brglm2")),
                sex2 = fit(case ~ age + oc + vic + vicl + vis + dia, sex2),
                endometrial = fit(HG ~ NV + PI + EH, endo)),
           "tests/models/reference/firth_brglm2.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
