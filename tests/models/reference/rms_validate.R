# rms::validate (Harrell's optimism bootstrap) on the demo cohort's military subgroup, for
# comparison with pfps_stats.validate_bootstrap within Monte Carlo error.
#   Rscript tests/models/reference/rms_validate.R      (writes tests/models/reference/rms_validate.json)
suppressPackageStartupMessages({library(rms); library(jsonlite)})
demo <- read.csv("src/pfps_stats/data/demo_cohort.csv")
vars <- c("pfp", "bmi", "q_angle_deg", "weekly_km", "hip_abd_strength_nkg",
          "knee_ext_strength_nmkg", "sex")
mil <- na.omit(demo[demo$subgroup == "military", vars])
f <- lrm(pfp ~ bmi + q_angle_deg + weekly_km + hip_abd_strength_nkg + knee_ext_strength_nmkg +
           sex, data = mil, x = TRUE, y = TRUE)
set.seed(20190301)
B <- 2000
v <- rms::validate(f, B = B)  # jsonlite also exports a validate()
keep <- c("Dxy", "Intercept", "Slope", "B")
out <- list(R = R.version.string, rms = as.character(packageVersion("rms")), B = B,
            n = nrow(mil), metrics = keep)
for (col in c("index.orig", "training", "test", "optimism", "index.corrected"))
  out[[col]] <- unname(v[keep, col])
# Monte Carlo standard error of each mean optimism, from a second look at the replicates
set.seed(1)
reps <- t(replicate(200, {
  i <- sample(nrow(mil), replace = TRUE)
  g <- lrm.fit(f$x[i, ], f$y[i])
  lp_test <- f$x %*% coef(g)[-1] + coef(g)[1]
  cal <- coef(lrm.fit(lp_test, f$y))
  somers <- somers2(plogis(lp_test), f$y)["Dxy"]
  c(Dxy = unname(g$stats["Dxy"] - somers), Intercept = unname(-cal[1]),
    Slope = unname(1 - cal[2]),
    B = unname(mean((plogis(g$linear.predictors) - f$y[i])^2) -
               mean((plogis(lp_test) - f$y)^2)))
}))
out$optimism_sd <- unname(apply(reps, 2, sd))
write_json(out, "tests/models/reference/rms_validate.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
