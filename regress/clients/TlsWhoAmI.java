/*
 * regress/clients/TlsWhoAmI.java: for regress/t/333_tls_java.t.
 *
 * usage: java -cp ZOOKEEPER_CLASSPATH TlsWhoAmI.java HOST:PORT CA.pem KEYCERT.pem...
 *
 * For each KEYCERT.pem (a private key followed by its certificate): prints
 * "expect <DN>" with the certificate's subject as ZooKeeper's
 * X509AuthenticationProvider names it (getSubjectX500Principal().getName()),
 * then connects over TLS (Netty, the ZooKeeper client's own TLS code) with
 * that certificate and prints "got <scheme>:<id>" for each identity
 * whoAmI() reports.
 */
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ClientInfo;

public class TlsWhoAmI {
    public static void main(String[] a) throws Exception {
        CertificateFactory f = CertificateFactory.getInstance("X.509");
        for (int i = 2; i < a.length; i++) {
            String pem = new String(Files.readAllBytes(Paths.get(a[i])), StandardCharsets.US_ASCII);
            pem = pem.substring(pem.indexOf("-----BEGIN CERTIFICATE-----"));
            try (InputStream in = new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))) {
                X509Certificate c = (X509Certificate) f.generateCertificate(in);
                System.out.println("expect " + c.getSubjectX500Principal().getName());
            }
            ZKClientConfig cfg = new ZKClientConfig();
            cfg.setProperty("zookeeper.client.secure", "true");
            cfg.setProperty("zookeeper.clientCnxnSocket", "org.apache.zookeeper.ClientCnxnSocketNetty");
            cfg.setProperty("zookeeper.ssl.trustStore.location", a[1]);
            cfg.setProperty("zookeeper.ssl.trustStore.type", "PEM");
            cfg.setProperty("zookeeper.ssl.keyStore.location", a[i]);
            cfg.setProperty("zookeeper.ssl.keyStore.type", "PEM");
            cfg.setProperty("zookeeper.ssl.hostnameVerification", "false");
            CountDownLatch up = new CountDownLatch(1);
            ZooKeeper zk = new ZooKeeper(a[0], 10000, e -> {
                if (e.getState() == Watcher.Event.KeeperState.SyncConnected)
                    up.countDown();
            }, cfg);
            if (!up.await(20, TimeUnit.SECONDS)) {
                System.out.println("got nothing: not connected");
            } else {
                for (ClientInfo ci : zk.whoAmI())
                    System.out.println("got " + ci.getAuthScheme() + ":" + ci.getUser());
            }
            zk.close();
        }
    }
}
