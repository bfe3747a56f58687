"""The families added for breadth (linear variants, GLMs, naive Bayes, discriminant
analysis, clustering, mixtures, outlier detectors, meta-estimators, decomposition and
selection), each on small real data, in the format of ``sklearn_cases.CASES``."""

from __future__ import annotations

import warnings

import pytest
from sklearn import cluster, multiclass, multioutput
from sklearn import cross_decomposition as cd
from sklearn import decomposition as dec
from sklearn import ensemble as ens
from sklearn import feature_selection as fs
from sklearn import linear_model as lm
from sklearn import random_projection as rp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.covariance import EllipticEnvelope
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import IsolationForest
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.kernel_ridge import KernelRidge
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, MultinomialNB
from sklearn.neighbors import LocalOutlierFactor, NearestCentroid, NeighborhoodComponentsAnalysis
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import (
    Binarizer,
    KBinsDiscretizer,
    OrdinalEncoder,
    PowerTransformer,
    QuantileTransformer,
    StandardScaler,
    TargetEncoder,
)
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor


def case(factory, dataset: str, variant: str = "", marks=()):
    """``pytest.param(factory, dataset)`` with an id naming the class, variant and dataset."""
    label = "-".join(p for p in (type(factory()).__name__, variant, dataset) if p)
    return pytest.param(factory, dataset, id=label, marks=marks)


def scaled(make):
    return lambda: make_pipeline(StandardScaler(), make())


def _two_classifiers():
    return [
        ("linear", make_pipeline(StandardScaler(), lm.LogisticRegression(max_iter=2000))),
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
    ]


def _two_regressors():
    return [("linear", lm.Ridge()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0))]


BREADTH_CASES = [
    # linear regressors sharing X @ coef_.T + intercept_
    case(lm.RidgeCV, "diabetes"),
    case(lambda: lm.LassoCV(cv=3), "diabetes"),
    case(lambda: lm.ElasticNetCV(cv=3), "diabetes"),
    case(lm.Lars, "diabetes"),
    case(lambda: lm.LarsCV(cv=3), "diabetes"),
    case(lambda: lm.LassoLars(alpha=0.01), "diabetes"),
    case(lambda: lm.LassoLarsCV(cv=3), "diabetes"),
    case(lm.LassoLarsIC, "diabetes"),
    case(lm.OrthogonalMatchingPursuit, "diabetes"),
    case(lambda: lm.OrthogonalMatchingPursuitCV(cv=3), "diabetes"),
    case(lm.BayesianRidge, "diabetes"),
    case(lm.ARDRegression, "diabetes"),
    case(lm.HuberRegressor, "diabetes"),
    case(lambda: lm.QuantileRegressor(alpha=0.0), "diabetes"),
    case(lambda: lm.TheilSenRegressor(random_state=0, max_subpopulation=200), "diabetes"),
    # What scikit-learn 1.8 names in place of the deprecated PassiveAggressiveRegressor.
    case(
        lambda: lm.SGDRegressor(
            loss="epsilon_insensitive", penalty=None, learning_rate="pa1", eta0=1.0, random_state=0
        ),
        "diabetes",
        "pa1",
    ),
    case(lambda: lm.MultiTaskLasso(alpha=0.1), "diabetes_two_targets"),
    case(lambda: lm.MultiTaskLassoCV(cv=3), "diabetes_two_targets"),
    case(lambda: lm.MultiTaskElasticNet(alpha=0.01), "diabetes_two_targets"),
    case(lambda: lm.MultiTaskElasticNetCV(cv=3), "diabetes_two_targets"),
    case(lambda: lm.RANSACRegressor(random_state=0), "diabetes"),
    case(lm.PoissonRegressor, "diabetes_positive"),
    case(lm.GammaRegressor, "diabetes_positive"),
    case(lambda: lm.TweedieRegressor(power=1.5), "diabetes_positive"),
    # linear classifiers and the one-class SVM
    case(scaled(lambda: lm.Perceptron(random_state=0)), "wine"),
    # What scikit-learn 1.8 names in place of the deprecated PassiveAggressiveClassifier.
    case(
        scaled(
            lambda: lm.SGDClassifier(
                loss="hinge", penalty=None, learning_rate="pa1", eta0=1.0, random_state=0
            )
        ),
        "breast_cancer",
        "pa1",
    ),
    case(lm.RidgeClassifierCV, "iris"),
    case(lambda: lm.LogisticRegressionCV(cv=3, max_iter=2000), "iris"),
    case(scaled(lambda: lm.SGDOneClassSVM(nu=0.2, random_state=0)), "wine"),
    # naive Bayes on pixel counts
    case(MultinomialNB, "digits"),
    case(ComplementNB, "digits"),
    case(lambda: BernoulliNB(binarize=4.0), "digits"),
    case(lambda: CategoricalNB(min_categories=17), "digits"),
    # discriminant analysis
    case(LinearDiscriminantAnalysis, "wine"),
    case(LinearDiscriminantAnalysis, "breast_cancer"),
    case(lambda: LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto"), "iris", "eigen"),
    case(QuadraticDiscriminantAnalysis, "iris"),
    case(lambda: QuadraticDiscriminantAnalysis(reg_param=0.1), "breast_cancer"),
    # linear projections
    case(lambda: dec.TruncatedSVD(n_components=5, random_state=0), "digits"),
    case(lambda: dec.IncrementalPCA(n_components=4), "breast_cancer"),
    case(lambda: dec.IncrementalPCA(n_components=3, whiten=True), "wine", "whiten"),
    case(lambda: dec.FastICA(n_components=3, random_state=0), "iris"),
    case(lambda: dec.FactorAnalysis(n_components=3, random_state=0), "wine"),
    case(lambda: dec.SparsePCA(n_components=3, random_state=0), "iris"),
    case(lambda: dec.MiniBatchSparsePCA(n_components=3, random_state=0, max_iter=20), "iris"),
    case(lambda: dec.KernelPCA(n_components=3), "iris"),
    case(lambda: rp.GaussianRandomProjection(n_components=5, random_state=0), "wine"),
    case(lambda: rp.SparseRandomProjection(n_components=5, random_state=0), "wine"),
    case(lambda: NeighborhoodComponentsAnalysis(n_components=2, random_state=0, max_iter=20), "iris"),
    case(lambda: cd.PLSRegression(n_components=2), "diabetes"),
    case(lambda: cd.PLSCanonical(n_components=1), "diabetes"),
    case(lambda: cd.CCA(n_components=1), "diabetes"),
    case(lambda: cd.PLSSVD(n_components=1), "diabetes"),
    case(lambda: BernoulliRBM(n_components=8, random_state=0, n_iter=3), "digits"),
    # feature selection
    case(lambda: fs.SelectKBest(k=5), "wine"),
    case(lambda: fs.SelectPercentile(percentile=30), "breast_cancer"),
    case(fs.SelectFpr, "wine"),
    case(fs.SelectFdr, "wine"),
    case(fs.SelectFwe, "wine"),
    case(lambda: fs.GenericUnivariateSelect(mode="k_best", param=3), "iris"),
    case(lambda: fs.VarianceThreshold(threshold=1.0), "digits"),
    case(lambda: fs.SelectFromModel(lm.LogisticRegression(max_iter=2000)), "iris"),
    case(
        lambda: fs.SequentialFeatureSelector(lm.LinearRegression(), n_features_to_select=3, cv=2), "diabetes"
    ),
    case(lambda: fs.RFE(lm.LogisticRegression(max_iter=2000), n_features_to_select=2), "iris"),
    case(lambda: fs.RFECV(lm.Ridge(), cv=2), "diabetes"),
    # clustering and mixtures (KMeans on float64 data: fitted on float32, scikit-learn's own
    # predict refuses float64 rows with a Cython buffer error)
    case(lambda: cluster.KMeans(n_clusters=4, n_init=2, random_state=0), "synthetic"),
    case(lambda: cluster.MiniBatchKMeans(n_clusters=3, n_init=2, random_state=0), "synthetic_regression"),
    case(cluster.MeanShift, "iris"),
    case(lambda: cluster.AffinityPropagation(random_state=0), "iris"),
    case(lambda: cluster.Birch(n_clusters=3), "iris"),
    case(lambda: GaussianMixture(n_components=3, random_state=0), "iris", "full"),
    case(lambda: GaussianMixture(n_components=2, covariance_type="diag", random_state=0), "wine", "diag"),
    case(lambda: GaussianMixture(n_components=3, covariance_type="tied", random_state=0), "iris", "tied"),
    case(
        lambda: GaussianMixture(n_components=3, covariance_type="spherical", random_state=0),
        "iris",
        "spherical",
    ),
    case(lambda: BayesianGaussianMixture(n_components=3, random_state=0), "iris"),
    # outlier detectors
    case(lambda: IsolationForest(n_estimators=30, random_state=0), "wine"),
    case(
        lambda: IsolationForest(n_estimators=20, max_features=0.5, random_state=0),
        "breast_cancer",
        "features",
    ),
    case(lambda: EllipticEnvelope(random_state=0), "iris"),
    case(lambda: LocalOutlierFactor(novelty=True), "wine"),
    case(lambda: LocalOutlierFactor(n_neighbors=5, novelty=True), "synthetic", "ties"),
    # constants
    case(DummyClassifier, "iris"),
    case(lambda: DummyClassifier(strategy="most_frequent"), "breast_cancer"),
    case(DummyRegressor, "diabetes"),
    # meta-estimators over registered parts
    case(lambda: ens.VotingClassifier(_two_classifiers()), "iris", "hard"),
    case(lambda: ens.VotingClassifier(_two_classifiers(), voting="soft", weights=[2, 1]), "wine", "soft"),
    case(lambda: ens.VotingRegressor(_two_regressors(), weights=[1, 3]), "diabetes"),
    case(lambda: ens.BaggingClassifier(n_estimators=5, random_state=0), "iris", "trees"),
    case(
        lambda: ens.BaggingClassifier(
            lm.LogisticRegression(max_iter=2000), n_estimators=4, max_features=0.6, random_state=0
        ),
        "wine",
        "linear",
    ),
    case(lambda: ens.BaggingRegressor(n_estimators=5, max_features=0.7, random_state=0), "diabetes"),
    case(lambda: ens.StackingClassifier(_two_classifiers(), cv=3), "iris"),
    case(
        lambda: ens.StackingClassifier(_two_classifiers(), cv=3, passthrough=True),
        "breast_cancer",
        "passthrough",
    ),
    case(lambda: ens.StackingRegressor(_two_regressors(), cv=3), "diabetes"),
    case(lambda: multiclass.OneVsRestClassifier(lm.LogisticRegression(max_iter=2000)), "iris"),
    case(lambda: multiclass.OneVsRestClassifier(LinearSVC(random_state=0)), "wine", "decision"),
    case(lambda: multiclass.OneVsOneClassifier(lm.LogisticRegression(max_iter=2000)), "iris"),
    case(lambda: multioutput.MultiOutputRegressor(lm.Ridge()), "diabetes_two_targets"),
    case(
        lambda: multioutput.MultiOutputClassifier(make_pipeline(StandardScaler(), lm.LogisticRegression())),
        "wine_two_targets",
    ),
    case(lambda: CalibratedClassifierCV(cv=3), "iris"),
    case(
        lambda: CalibratedClassifierCV(DecisionTreeClassifier(max_depth=3, random_state=0), cv=3),
        "breast_cancer",
    ),
    case(lambda: TransformedTargetRegressor(lm.Ridge(), transformer=StandardScaler()), "diabetes"),
    # encoders, bins, thresholds, unions
    case(lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), "categorical"),
    case(TargetEncoder, "categorical_known", "binary"),
    case(lambda: TargetEncoder(target_type="continuous"), "categorical_known", "continuous"),
    case(lambda: Binarizer(threshold=5.0), "digits"),
    case(lambda: KBinsDiscretizer(n_bins=4, quantile_method="averaged_inverted_cdf"), "wine", "onehot"),
    case(lambda: KBinsDiscretizer(n_bins=3, encode="ordinal", strategy="uniform"), "synthetic", "ordinal"),
    case(TfidfTransformer, "digits"),
    case(PowerTransformer, "diabetes", "yeo-johnson"),
    case(PowerTransformer, "wine", "yeo-johnson"),
    case(lambda: PowerTransformer(method="box-cox"), "wine", "box-cox"),
    case(lambda: QuantileTransformer(n_quantiles=100), "digits", "repeated-quantiles"),
    case(lambda: QuantileTransformer(n_quantiles=50), "categorical_known", "nan"),
    case(
        lambda: FeatureUnion(
            [("pca", PCA(n_components=2)), ("scale", StandardScaler())], transformer_weights={"pca": 2.0}
        ),
        "iris",
    ),
    case(lambda: KernelRidge(alpha=0.5), "diabetes", "linear"),
    case(lambda: KernelRidge(alpha=1.0, kernel="rbf", gamma=0.5), "iris", "rbf"),
    case(NearestCentroid, "wine"),
]


def _deprecated_passive_aggressive(name: str):
    """A PassiveAggressive* estimator, built without the FutureWarning scikit-learn 1.8 gives
    for it (its replacement is tested above); the class is still supported while it exists."""

    def make():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=f"Class {name} is deprecated", category=FutureWarning)
            return getattr(lm, name)(random_state=0)

    return make


if hasattr(lm, "PassiveAggressiveRegressor"):
    BREADTH_CASES.append(case(_deprecated_passive_aggressive("PassiveAggressiveRegressor"), "diabetes"))
if hasattr(lm, "PassiveAggressiveClassifier"):
    BREADTH_CASES.append(
        case(scaled(_deprecated_passive_aggressive("PassiveAggressiveClassifier")), "breast_cancer")
    )
