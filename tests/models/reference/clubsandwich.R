# Reference values for tests/models/test_clusters.py: small-sample cluster-robust inference
# (CR2 / Bell-McCaffrey covariance, Satterthwaite degrees of freedom) from clubSandwich, and
# glm summary() z-tests (model-based Wald p-values).
#   Rscript tests/models/reference/clubsandwich.R   (run from the repository root; writes
#   tests/models/reference/clubsandwich.json and tests/models/reference/data/cluster_*.csv)
# Needs Debian's r-base-core r-cran-clubsandwich r-cran-jsonlite (clubSandwich 0.5.8 here).
suppressPackageStartupMessages({
  library(clubSandwich); library(jsonlite)
})
out <- list(R = R.version.string, clubSandwich = as.character(packageVersion("clubSandwich")))
ctrl <- glm.control(epsilon = 1e-14, maxit = 100)

# 1. Data ------------------------------------------------------------------------------------
# (a) subsets of the SYNTHETIC two-knee data: runners in id order, the first k/2 with a PFP
#     knee and the first k/2 without (so that both outcomes occur), k = 6 and 12.
knees <- read.csv("tests/models/reference/data/knees.csv")
knees <- knees[order(knees$runner_id, knees$knee), ]
events <- tapply(knees$pfp, knees$runner_id, sum)
cases <- names(events)[events > 0]; controls <- names(events)[events == 0]
for (k in c(6, 12)) {
  ids <- c(cases[1:(k / 2)], controls[1:(k / 2)])
  sub <- knees[knees$runner_id %in% ids, ]
  write.csv(sub, sprintf("tests/models/reference/data/cluster_knees%d.csv", k),
            row.names = FALSE)
}
# (b) SYNTHETIC small design: 8 sites of unequal size, a binary site-level exposure (3 of 8
#     sites exposed: unbalanced, so its Satterthwaite df are small), a knee-level load and a
#     shared site frailty.
set.seed(20240611)
sizes <- c(4, 6, 7, 9, 10, 12, 14, 18)
site <- rep(sprintf("S%d", seq_along(sizes)), sizes)
exposed <- rep(c(1, 0, 0, 1, 0, 0, 1, 0), sizes)
frailty <- rep(rnorm(length(sizes), 0, 0.8), sizes)
load <- round(rnorm(length(site), 0, 1), 3)
pfp <- rbinom(length(site), 1, plogis(-0.7 + 0.9 * exposed + 0.6 * load + frailty))
write.csv(data.frame(site = site, exposed = exposed, load = load, pfp = pfp),
          "tests/models/reference/data/cluster_binary.csv", row.names = FALSE)

# 2. CR2 + Satterthwaite, as coef_test / conf_int / linear_contrast -------------------------
reference <- function(file, formula, cluster, contrast) {
  d <- read.csv(file)
  fit <- glm(as.formula(formula), family = binomial, data = d, control = ctrl)
  V <- vcovCR(fit, cluster = d[[cluster]], type = "CR2")
  ct <- coef_test(fit, vcov = V, test = c("z", "naive-t", "Satterthwaite"))
  ci <- conf_int(fit, vcov = V, level = 0.95, test = "Satterthwaite")
  ci90 <- conf_int(fit, vcov = V, level = 0.90, test = "Satterthwaite")
  lc <- linear_contrast(fit, vcov = V, contrasts = matrix(contrast, nrow = 1),
                        test = "Satterthwaite")
  V1 <- vcovCR(fit, cluster = d[[cluster]], type = "CR1")
  list(file = basename(file), formula = formula, cluster = cluster,
       n = nrow(d), n_clusters = length(unique(d[[cluster]])),
       terms = names(coef(fit)), coef = unname(coef(fit)),
       vcov_cr2 = unname(as.matrix(V)), se_cr2 = unname(ct$SE),
       df_satterthwaite = unname(ct$df_Satt), p_satterthwaite = unname(ct$p_Satt),
       p_z_cr2 = unname(ct$p_z), p_naive_t = unname(ct$p_t),
       ci_low = unname(ci$CI_L), ci_high = unname(ci$CI_U),
       ci90_low = unname(ci90$CI_L), ci90_high = unname(ci90$CI_U),
       contrast = contrast, contrast_se = lc$SE, contrast_df = lc$df,
       vcov_cr1_clubsandwich = unname(as.matrix(V1)),
       glm_se = unname(sqrt(diag(vcov(fit)))),
       glm_z_p = unname(summary(fit)$coefficients[, "Pr(>|z|)"]))
}
out$knees6 <- reference("tests/models/reference/data/cluster_knees6.csv",
                        "pfp ~ q_angle_deg + knee_ext_strength_nmkg", "runner_id",
                        c(1, 15, 3))
out$knees12 <- reference("tests/models/reference/data/cluster_knees12.csv",
                         "pfp ~ q_angle_deg + knee_ext_strength_nmkg", "runner_id",
                         c(1, 15, 3))
out$binary <- reference("tests/models/reference/data/cluster_binary.csv",
                        "pfp ~ exposed + load", "site", c(1, 1, 0.5))

# 3. glm summary() z-tests (model-based Wald) on the military demo subgroup -----------------
demo <- read.csv("src/pfps_stats/data/demo_cohort.csv")
vars <- c("pfp", "bmi", "q_angle_deg", "weekly_km", "hip_abd_strength_nkg",
          "knee_ext_strength_nmkg", "sex")
mil <- na.omit(demo[demo$subgroup == "military", vars])
f1 <- glm(pfp ~ bmi + q_angle_deg + weekly_km + hip_abd_strength_nkg + knee_ext_strength_nmkg +
            sex, family = binomial, data = mil, control = ctrl)
s1 <- summary(f1)$coefficients
out$wald_military <- list(terms = rownames(s1), coef = unname(s1[, "Estimate"]),
                          se = unname(s1[, "Std. Error"]), z = unname(s1[, "z value"]),
                          p = unname(s1[, "Pr(>|z|)"]),
                          ci_low = unname(confint.default(f1)[, 1]),
                          ci_high = unname(confint.default(f1)[, 2]))

write_json(out, "tests/models/reference/clubsandwich.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
