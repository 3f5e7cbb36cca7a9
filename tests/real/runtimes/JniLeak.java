// SPDX-License-Identifier: MIT
// Java calling C through JNI (jni_leak.c) from four threads; the C code
// leaks one block unless the argument is "clean". expect-exit: 6
public class JniLeak {
    static { System.loadLibrary("jnileak"); }

    static native void leakBlock(int size, boolean clean);
    static native int churn(int count);

    public static void main(String[] args) throws Exception {
        leakBlock(88, args.length > 0 && args[0].equals("clean"));
        int[] sums = new int[4];
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            final int id = t;
            threads[t] = new Thread(() -> {
                for (int k = 0; k < 50; k++) sums[id] += churn(1000);
            });
            threads[t].start();
        }
        for (Thread thread : threads) thread.join();
        System.out.println("sum " + sums[0]);
        System.exit(6);
    }
}
