// The LibTorch wrapper whose calls differ between 1.13 and 2.x: autocast is on inside a guard,
// restores what was there (nesting included), and really changes the dtype of a matmul.
#include <QtTest>

#include "nn/torchcompat.h"

using namespace rr::core;

class TestTorchCompat : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void versionIsDotted() {
    const QString v = QString::fromStdString(nn::libtorchVersion());
    QVERIFY2(QRegularExpression(R"(^\d+\.\d+\.\d+$)").match(v).hasMatch(), qPrintable(v));
  }

  void autocastGuardCastsAndRestores() {
    const torch::Device cpu(torch::kCPU);
    QVERIFY(nn::autocastSupported(cpu));
    QVERIFY(!nn::autocastSupported(cpu, torch::kHalf));
    const torch::Tensor a = torch::randn({4, 8}), b = torch::randn({8, 3});
    QCOMPARE(torch::mm(a, b).scalar_type(), torch::kFloat);
    {
      nn::AutocastGuard outer(cpu);
      QCOMPARE(torch::mm(a, b).scalar_type(), torch::kBFloat16);
      {
        nn::AutocastGuard inner(cpu);
        QCOMPARE(torch::mm(a, b).scalar_type(), torch::kBFloat16);
      }
      // The inner guard's end leaves the outer one in force.
      QCOMPARE(torch::mm(a, b).scalar_type(), torch::kBFloat16);
      // Reductions stay fp32 under autocast, as torch.autocast does.
      QCOMPARE(torch::log_softmax(a, 1).scalar_type(), torch::kFloat);
    }
    QCOMPARE(torch::mm(a, b).scalar_type(), torch::kFloat);
  }

  void cudaGuardNeedsNoGpu() {
    // Making a CUDA guard on a machine without a GPU only flips thread-local switches.
    { nn::AutocastGuard g(torch::Device(torch::kCUDA)); }
    const torch::Tensor a = torch::randn({2, 2});
    QCOMPARE(torch::mm(a, a).scalar_type(), torch::kFloat);
    if (!torch::cuda::is_available()) QVERIFY(!nn::autocastSupported(torch::Device(torch::kCUDA)));
  }
};

QTEST_GUILESS_MAIN(TestTorchCompat)
#include "tst_torchcompat.moc"
