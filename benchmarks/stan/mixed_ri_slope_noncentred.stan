// Linear multilevel model with a correlated random intercept and slope, Stata's default priors
// for `bayes: mixed y x ... || g: x, covariance(unstructured)`:
//   coefficients ~ normal(0, 100^2), residual variance ~ igamma(.01, .01),
//   2x2 random-effects covariance ~ iwishart(3, I(2)), random effects ~ mvnormal(0, Sigma).
// Non-centred parametrisation: u = z * chol(Sigma)' with z standard normal (same posterior).
data {
  int<lower=1> N;                 // observations
  int<lower=1> K;                 // fixed-effect columns (constant included)
  int<lower=1> J;                 // groups
  matrix[N, K] X;
  matrix[N, 2] Z;                 // random-effect columns: slope variable, constant
  int<lower=1, upper=J> g[N];     // group of each observation
  vector[N] y;
}
transformed data {
  matrix[2, 2] scale = diag_matrix(rep_vector(1.0, 2));
}
parameters {
  vector[K] beta;
  real<lower=0> sigma2;
  cov_matrix[2] Sigma;
  matrix[J, 2] z;
}
model {
  matrix[J, 2] u = z * cholesky_decompose(Sigma)';
  beta ~ normal(0, 100);
  sigma2 ~ inv_gamma(0.01, 0.01);
  Sigma ~ inv_wishart(3, scale);
  to_vector(z) ~ std_normal();
  y ~ normal(X * beta + rows_dot_product(Z, u[g]), sqrt(sigma2));
}
